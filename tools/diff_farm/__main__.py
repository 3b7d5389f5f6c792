import sys

from tools.diff_farm.farm import main

sys.exit(main())
