"""The app's words, in English and Chinese.

Chinese when the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``) starts with ``zh``,
English otherwise; the app switches at run time with a key. Data (names, statuses,
tiers) is never translated: it is shown as stored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

Language = Literal["en", "zh"]

TEXT: dict[str, tuple[str, str]] = {
    # key: (English, Chinese)
    "app.title": ("tuicrm", "tuicrm 客户管理"),
    "col.name": ("Customer", "客户名称"),
    "col.tier": ("Tier", "分层"),
    "col.status": ("Status", "状态"),
    "col.owner": ("Owner", "负责人"),
    "col.industry": ("Industry", "行业"),
    "col.amount": ("Total 万", "总额万元"),
    "col.last_contact": ("Last", "最近联系"),
    "col.next_due": ("Next due", "下次跟进"),
    "list.all": ("all customers", "全部客户"),
    "list.count": ("{count} customers", "{count} 位客户"),
    "list.counting": ("counting…", "计数中…"),
    "list.search": ("search", "搜索"),
    "list.search_placeholder": ("name, pinyin (akj), contact, tag, note…",
                                "名称、拼音(akj)、联系人、标签、跟进内容…"),
    "list.sort": ("sort", "排序"),
    "list.empty": ("No customer matches.", "没有匹配的客户。"),
    "filter.tier": ("tier", "分层"),
    "filter.status": ("status", "状态"),
    "filter.owner": ("owner", "负责人"),
    "filter.tag": ("tag", "标签"),
    "filter.overdue": ("overdue", "已逾期"),
    "filter.mine": ("mine", "我的"),
    "filter.pick": ("Filter by {what}", "按{what}筛选"),
    "filter.any": ("(any)", "(全部)"),
    "filter.tag_prompt": ("Tag (dimension:value), empty to clear",
                          "标签(维度:值)，留空清除"),
    "tier.none": ("untiered", "未分层"),
    "due.overdue": ("overdue", "逾期"),
    "key.search": ("Search", "搜索"),
    "key.open": ("Open", "打开"),
    "key.log": ("Log follow-up", "记录跟进"),
    "key.board": ("Board", "看板"),
    "key.mine": ("Mine", "我的"),
    "key.overdue": ("Overdue", "逾期"),
    "key.tier": ("Tier", "分层"),
    "key.status": ("Status", "状态"),
    "key.owner": ("Owner", "负责人"),
    "key.tag": ("Tag", "标签"),
    "key.clear": ("Clear filters", "清除筛选"),
    "key.sort": ("Sort", "排序"),
    "key.reverse": ("Reverse", "倒序"),
    "key.help": ("Help", "帮助"),
    "key.back": ("Back", "返回"),
    "key.quit": ("Quit", "退出"),
    "key.language": ("中文/English", "中文/English"),
    "key.edit": ("Edit", "编辑"),
    "key.add_tag": ("Add tag", "加标签"),
    "key.remove_tag": ("Remove tag", "删标签"),
    "key.contact": ("Add contact", "加联系人"),
    "key.todo": ("Tick to-do", "完成待办"),
    "key.reasons": ("Why (tags)", "标签原因"),
    "key.more": ("All follow-ups", "全部跟进"),
    "key.override": ("Override tier", "手动分层"),
    "key.save": ("Save", "保存"),
    "key.add_todo": ("Add to-do", "加待办"),
    "key.move": ("Move status", "改状态"),
    "key.cards": ("Cards", "卡片"),
    "profile.facts": ("Facts", "基本信息"),
    "profile.tags": ("Tags", "标签"),
    "profile.contacts": ("Decision chain", "决策链"),
    "profile.needs": ("Needs", "需求分析"),
    "profile.plans": ("Strategy plan", "策略计划"),
    "profile.followups": ("Follow-ups", "跟进记录"),
    "profile.todos": ("Open to-dos", "待办事项"),
    "profile.none": ("none yet", "暂无"),
    "profile.earlier": ("… {count} earlier follow-ups: m lists them all",
                        "… 另有 {count} 条更早的跟进记录：按 m 全部列出"),
    "profile.rule": ("rule", "规则"),
    "profile.override": ("override", "手动"),
    "fact.tier": ("tier", "分层"),
    "fact.lifecycle": ("lifecycle", "生命周期"),
    "fact.strategy": ("strategy", "策略"),
    "fact.status": ("status", "状态"),
    "fact.stage": ("stage", "合作阶段"),
    "fact.owner": ("owner", "负责人"),
    "fact.industry": ("industry", "行业"),
    "fact.size": ("size", "规模"),
    "fact.region": ("region", "地区"),
    "fact.source": ("source", "来源"),
    "fact.total": ("total 万元", "采购总额万元"),
    "fact.last_contact": ("last contact", "最近联系"),
    "fact.next_due": ("next due", "下次跟进"),
    "fact.next_set": ("next (set)", "约定下次"),
    "fact.pain_points": ("pain points", "核心痛点"),
    "fact.goals": ("goals 3-6 mo.", "3-6月目标"),
    "form.title": ("Follow-up with {name}", "跟进记录：{name}"),
    "form.date": ("Date", "跟进日期"),
    "form.method": ("Method", "沟通方式"),
    "form.participants": ("Participants", "参与人员"),
    "form.content": ("Discussed", "沟通内容"),
    "form.feedback": ("Feedback", "客户反馈"),
    "form.todos": ("To-dos", "待办事项"),
    "form.todos_hint": ("one a line: text @YYYY-MM-DD", "每行一项：内容 @YYYY-MM-DD"),
    "form.owner": ("Owner", "负责人"),
    "form.next": ("Next follow-up", "下次跟进"),
    "form.saved": ("Follow-up saved.", "跟进已保存。"),
    "form.fix": ("Fix the marked fields.", "请修正标出的字段。"),
    "confirm.discard": ("Discard the unsaved follow-up?", "放弃未保存的跟进记录？"),
    "confirm.discard_edit": ("Discard the changes to this customer?", "放弃对该客户的修改？"),
    "edit.title": ("Edit {name}", "编辑客户：{name}"),
    "edit.name": ("Name", "客户名称"),
    "edit.contact": ("Contact", "联系人"),
    "edit.needs": ("Needs", "需求类别"),
    "edit.relationship": ("Relationship", "关系"),
    "edit.potential": ("Potential", "潜力"),
    "edit.total": ("Total yuan", "采购总额（元）"),
    "edit.annual": ("Annual yuan", "年采购额（元）"),
    "edit.first_deal": ("First deal", "首次成交"),
    "edit.last_deal": ("Last deal", "最近成交"),
    "confirm.yes": ("Discard (y)", "放弃 (y)"),
    "confirm.no": ("Keep editing (n)", "继续编辑 (n)"),
    "board.title": ("Review board", "客户看板"),
    "board.owner_all": ("all owners", "全部负责人"),
    "board.total": ("total", "合计"),
    "board.moved": ("{name}: {old} → {new}", "{name}：{old} → {new}"),
    "board.changes": ("since {since}", "自 {since} 以来"),
    "key.changes": ("Since last review", "上次评审以来"),
    "key.review": ("Review", "复盘"),
    "key.customers": ("Customers", "客户"),
    "key.previous": ("Week before", "上一周"),
    "key.next": ("Week after", "下一周"),
    "review.title": ("Review {start} – {end}", "复盘 {start} – {end}"),
    "review.figure": ("Figure", "指标"),
    "review.count": ("Count", "数量"),
    "review.done_due": ("follow-ups done/due", "已跟进/应跟进"),
    "review.chart_tiers": ("Customers by tier", "各分层客户数"),
    "review.chart_followups": ("Follow-ups per owner per week", "每周各负责人跟进数"),
    "profile.lessons": ("Lessons", "经验教训"),
    "board.pick_status": ("Move to status", "改为状态"),
    "prompt.tag": ("New tag (dimension:value)", "新标签(维度:值)"),
    "prompt.remove_tag": ("Remove which tag (dimension:value)", "删除标签(维度:值)"),
    "prompt.contact": ("Contact: name, title, cares about", "联系人：姓名, 职位, 关注点"),
    "prompt.override": ("Tier override: tier, reason (empty clears)",
                        "手动分层：分层, 原因(留空清除)"),
    "prompt.todo": ("Tick which to-do (number)", "完成第几项待办(编号)"),
    "help.title": ("Keys of this screen", "本屏按键"),
    "help.global": ("Everywhere: ctrl+p palette · escape back · ctrl+q quit · f2 language",
                    "任何地方：ctrl+p 命令面板 · escape 返回 · ctrl+q 退出 · f2 语言"),
    "palette.open": ("open", "打开"),
    "saved": ("Saved.", "已保存。"),
    "conflict": ("Someone else saved this customer; reloaded.", "他人已修改该客户，已重新载入。"),
    "conflict.title": ("{name} was saved by {who} since you opened it",
                       "打开后 {who} 已修改了 {name}"),
    "conflict.field": ("Field", "字段"),
    "conflict.theirs": ("Theirs (saved)", "对方(已保存)"),
    "conflict.yours": ("Yours", "你的修改"),
    "conflict.hint": ("r reload theirs · o overwrite with yours · escape keep theirs",
                      "r 载入对方版本 · o 用你的覆盖 · escape 保留对方版本"),
    "key.reload": ("Reload", "重新载入"),
    "key.overwrite": ("Overwrite", "覆盖"),
    "changed.by": ("{name} was changed by {who}; showing the new version.",
                   "{who} 修改了 {name}，已显示新版本。"),
}


class Labels:
    """The UI text in the current language."""

    def __init__(self, language: Language = "en", text: Mapping[str, tuple[str, str]] = TEXT):
        self.language: Language = language
        self._text = text

    def __call__(self, key: str, **values: object) -> str:
        """The text of ``key`` in the current language, with ``values`` filled in."""
        english, chinese = self._text.get(key, (key, key))
        words = chinese if self.language == "zh" else english
        return words.format(**values) if values else words

    def has(self, key: str) -> bool:
        """True when ``key`` has words."""
        return key in self._text

    def toggle(self) -> None:
        """Switch between English and Chinese."""
        self.language = "en" if self.language == "zh" else "zh"


def language_from_environment(environ: Mapping[str, str] | None = None) -> Language:
    """``zh`` when the locale says Chinese, else ``en``."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def wan(yuan: int | None) -> str:
    """Integer yuan in 万元 with up to two decimals: 800000 → '80', 15500 → '1.55'."""
    if yuan is None:
        return "-"
    return f"{yuan / 10000:.2f}".rstrip("0").rstrip(".")
