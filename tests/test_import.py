import subprocess
import sys


def test_explorer_imports_without_streamlit():
    code = ("import sys, explorer, explorer.data, explorer.models, explorer.training, "
            "explorer.checkpoints, explorer.figures, explorer.train, explorer.evaluate; "
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
