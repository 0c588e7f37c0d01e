from kldigital_site.cli import main

main()
