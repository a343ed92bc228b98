from depthforge.cli import main

main()
