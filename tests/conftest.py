import pytest
import torch


@pytest.fixture
def one_thread():
    """Tiny tensors: extra threads only spin against the other test processes on this machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
