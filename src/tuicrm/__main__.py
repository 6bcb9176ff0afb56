from tuicrm.launch import main

main()
