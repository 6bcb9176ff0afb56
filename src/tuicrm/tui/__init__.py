"""The full-screen app (Textual); the core never imports it."""

import os

# Textual draws at most 60 frames a second: a keystroke's echo and the rows it brings
# then land in frames ~17 ms apart however fast the rows come. At 120 the rows follow
# the echo sooner; a frame is drawn only when something changed, so an idle screen
# costs nothing more.
os.environ.setdefault("TEXTUAL_FPS", "120")
