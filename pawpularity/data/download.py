"""`pawpularity data download`: the Kaggle competition files, with the user's own credentials.

The data may not be redistributed, so the toolkit never ships it: the user signs in to Kaggle
(token file or environment variables) and accepts the competition rules once on its page.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from pawpularity.errors import DataError

if TYPE_CHECKING:
    from kaggle.api.kaggle_api_extended import KaggleApi

COMPETITION = "petfinder-pawpularity-score"
RULES_URL = f"https://www.kaggle.com/competitions/{COMPETITION}/rules"
CREDENTIALS_HELP = (
    "create an API token at https://www.kaggle.com/settings and save it as ~/.kaggle/kaggle.json "
    "(chmod 600), or set KAGGLE_USERNAME and KAGGLE_KEY; then accept the competition rules at "
    f"{RULES_URL}"
)


def download_competition(data_dir: Path) -> None:
    """Download and unzip train.csv, test.csv, train/ and test/ into data_dir; remove the zip.

    Run it again after an interruption: kaggle resumes or skips the zip. Raises DataError on missing
    credentials, rules not accepted, network or disk failures.
    """
    data_dir = Path(data_dir)
    api = _authenticated_api()
    archive = data_dir / f"{COMPETITION}.zip"
    try:
        api.competition_download_files(COMPETITION, path=str(data_dir), quiet=False)
        with zipfile.ZipFile(archive) as z:
            z.extractall(data_dir)  # drops ".." and absolute prefixes from member names
        archive.unlink()
    except requests.HTTPError as e:
        raise DataError(_http_message(e)) from e
    except requests.RequestException as e:  # before OSError: it is one
        raise DataError(
            f"could not reach Kaggle ({type(e).__name__}); check the network connection and retry"
        ) from e
    except zipfile.BadZipFile as e:
        archive.unlink(missing_ok=True)
        raise DataError(
            f"{archive}: the download is not a valid zip file; run the command again"
        ) from e
    except OSError as e:
        raise DataError(
            f"{data_dir}: cannot write the data ({e}); check free space and permissions"
        ) from e


def _authenticated_api() -> KaggleApi:
    """Import kaggle and sign in, keeping its multi-line help off the terminal."""
    chatter = io.StringIO()
    try:
        # Importing kaggle already tries to sign in; older versions exit the process on failure.
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            from kaggle.api.kaggle_api_extended import KaggleApi

            api = KaggleApi()
            api.authenticate()
    except ImportError as e:
        raise DataError(f"the kaggle package cannot be imported ({e}); pip install kaggle") from e
    except (Exception, SystemExit) as e:
        raise DataError(f"no usable Kaggle credentials: {CREDENTIALS_HELP}") from e
    return api


def _http_message(e: requests.HTTPError) -> str:
    status = getattr(e.response, "status_code", None)
    if status == 401:
        return f"Kaggle rejected your credentials (HTTP 401): {CREDENTIALS_HELP}"
    if status == 403:
        return (
            f"Kaggle refused the download (HTTP 403): sign in and accept the competition rules "
            f"at {RULES_URL}, then retry"
        )
    return f"the Kaggle download failed ({e}); retry later or download by hand from {RULES_URL}"
