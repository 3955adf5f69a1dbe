"""Prints the image's library versions as one JSON line (used by `image build` and `image status`)."""
import json
import platform

import joblib
import numpy
import pandas
import scipy
import sklearn

print(json.dumps({
    "python": platform.python_version(),
    "numpy": numpy.__version__,
    "scipy": scipy.__version__,
    "pandas": pandas.__version__,
    "sklearn": sklearn.__version__,
    "joblib": joblib.__version__,
}))
