"""The leak scanner finds a secret in its plain, quoted, escaped and base64 forms."""
import base64

import pytest

from tests.leak_scan import assert_no_leaks

SECRET = "s3cr3t/Value+with&chars"


@pytest.mark.parametrize("text", [
    f"log line password={SECRET}",
    "url?token=s3cr3t%2FValue%2Bwith%26chars",
    '{"p": "s3cr3t/Value+with&chars"}',
    "Authorization: Basic " + base64.b64encode(SECRET.encode()).decode(),
])
def test_each_form_of_a_secret_is_found(tmp_path, text):
    (tmp_path / "task.log").write_text(text)
    with pytest.raises(AssertionError, match="task.log") as caught:
        assert_no_leaks([SECRET], paths=[tmp_path])
    assert SECRET not in str(caught.value)


def test_clean_files_and_texts_pass(tmp_path):
    (tmp_path / "a.log").write_text("password=***")
    assert_no_leaks([SECRET], paths=[tmp_path], texts={"cli": "nothing here"})
