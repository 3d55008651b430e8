"""Pick the compute device (cuda, then mps, then cpu) and describe it in words."""

from __future__ import annotations

import os
from functools import lru_cache

import torch

DEVICE_ENV_VAR = "EXPLORER_DEVICE"
THREADS_ENV_VAR = "EXPLORER_TRAIN_THREADS"
# torch's thread count before anything here changes it (it usually equals the physical cores;
# a training run setting its own count also changes what later threads read)
DEFAULT_THREADS = torch.get_num_threads()


def pick_device(requested: str | None = None) -> torch.device:
    """Resolve "auto" (or None) to the best device present; honour $EXPLORER_DEVICE.

    An explicit request ("cpu", "cuda", "cuda:1", "mps") is used as given, but falls
    back to cpu with no error when that device is absent, so a shared config never
    crashes on a laptop.
    """
    choice = (requested or os.environ.get(DEVICE_ENV_VAR) or "auto").strip().lower()
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if choice.startswith("cuda") and not torch.cuda.is_available():
        return torch.device("cpu")
    if choice == "mps" and not _mps_available():
        return torch.device("cpu")
    try:
        return torch.device(choice)
    except RuntimeError:
        return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def device_name(device: torch.device | None = None, threads: int | None = None) -> str:
    """Human-readable name: the GPU's name, "Apple MPS", or "CPU: model (N threads)", where
    N is `threads` when given, else this thread's torch thread count."""
    device = device or pick_device()
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"GPU: {torch.cuda.get_device_name(index)} (CUDA {torch.version.cuda})"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    count = threads or torch.get_num_threads()
    return f"CPU: {_cpu_model()} ({count} thread{'' if count == 1 else 's'})"


def background_training_threads() -> int:
    """CPU threads for a training run inside the app: every core but one ($EXPLORER_TRAIN_THREADS
    overrides), so the server and a browser on the same machine keep a core to themselves.

    torch's threads spin-wait for each other; when a browser takes one of their cores, every
    step waits for the descheduled thread, which costs far more than the core's share.
    """
    requested = os.environ.get(THREADS_ENV_VAR, "").strip()
    if requested.isdigit() and int(requested) > 0:
        return int(requested)
    return max(1, DEFAULT_THREADS - 1)


@lru_cache(maxsize=1)
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine() or "unknown processor"


def model_device(model: torch.nn.Module) -> torch.device:
    """The device a model's weights live on (cpu for a model without parameters)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each thread that allocates its own memory arena and rarely returns them
    to the system, so a server that has carried 30 browsers keeps ~570 MB after they
    leave (measured). Capping the arenas (mallopt M_ARENA_MAX, what MALLOC_ARENA_MAX=2
    does) keeps it within ~75 MB. A no-op where the C library is not glibc."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # -8 = M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def limit_server_threads() -> None:
    """The server's own torch work (a sampling step, a decode) is small and runs for many
    sessions at once: one thread per such op on a machine of up to 4 cores. torch's threads
    spin-wait for each other, so on 2 busy cores a second thread made every op wait for a
    descheduled sibling. $EXPLORER_SERVER_THREADS overrides; training runs set their own."""
    requested = os.environ.get("EXPLORER_SERVER_THREADS", "").strip()
    threads = int(requested) if requested.isdigit() and int(requested) > 0 \
        else max(1, (os.cpu_count() or 1) // 4)
    torch.set_num_threads(threads)
