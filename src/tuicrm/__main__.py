from tuicrm.cli import main

main()
