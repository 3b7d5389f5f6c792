"""`python -m wasmaot ...` runs the command-line interface."""

from wasmaot.entry import main

if __name__ == "__main__":
    main()
