"""Shared by the bench tests: torch's CPU thread count is restored after a test that sets it."""

import pytest
import torch


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
