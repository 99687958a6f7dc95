import pytest
from memx.shared import shared_data_dir

WHERE = 'put the shared data in shared/data beside the repository, or set MEMX_DATA'


@pytest.fixture(scope='session')
def shared():
    "The shared data folder (../shared/data beside the repository, or $MEMX_DATA); the test skips, saying why, without it."
    try:
        root = shared_data_dir()
    except FileNotFoundError as e:
        pytest.skip(f'needs the shared data: {e}')
    if not root.is_dir():
        pytest.skip(f'needs the shared data: no folder {root} ({WHERE})')
    return root


@pytest.fixture(scope='session')
def shared_path(shared):
    "`shared_path('feff-family', ...)`: that path inside the shared data; the test skips, saying why, when it is missing."
    def get(*parts):
        path = shared.joinpath(*parts)
        if not path.exists():
            pytest.skip(f"needs {'/'.join(parts)} in the shared data: no {path}")
        return path
    return get


SLOW_FIXTURES = {'site'}   # test_book's built site: every chapter executed (~12 min on 2 cores)


@pytest.hookimpl(tryfirst=True)   # before `-m` selects
def pytest_collection_modifyitems(items):
    "A test that uses a slow fixture is slow, marked or not (a safety net: mark such tests `@pytest.mark.slow` too)."
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, 'fixturenames', ())):
            item.add_marker(pytest.mark.slow)
