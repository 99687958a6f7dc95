import pytest
from memx.data import shared_data_dir


@pytest.fixture(scope='session')
def shared():
    "The shared data folder (../shared/data beside the repository)."
    return shared_data_dir()
