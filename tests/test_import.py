import subprocess
import sys


def test_explorer_imports_without_streamlit():
    code = ("import sys, explorer, explorer.data, explorer.models, explorer.training, "
            "explorer.checkpoints, explorer.figures, explorer.train, explorer.evaluate, "
            "explorer.selection, explorer.imaging, explorer.sampling; "
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_training_cli_needs_only_torch_and_numpy():
    """The GPU box has torch + numpy only: the training and evaluation CLIs must not pull in
    plotly, Pillow or streamlit."""
    # sampling runs inside training too (the card's sample-quality scores)
    code = ("import sys, explorer.train, explorer.evaluate, explorer.sampling; "
            "print(sorted(m for m in ('plotly', 'PIL', 'streamlit') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
