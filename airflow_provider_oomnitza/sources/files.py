"""Plain files: CSV and JSON records, as assets or users."""
from airflow_provider_oomnitza.config.settings import AssetSettings, CommonSettings, UserSettings
from airflow_provider_oomnitza.config.types import Int, setting
from airflow_provider_oomnitza.sources.base import SourceType


class CsvSource(CommonSettings):
    filename: str = setting("", doc="One CSV file.", example="/some/path/to/file/assets.csv")
    directory: str = setting("", doc="A directory: every *.csv in it. Not with filename.")

    def problems(self):
        out = super().problems()
        if self.filename and self.directory:
            out.append(("directory", "filename and directory are mutually exclusive; set only one"))
        elif not self.filename and not self.directory:
            out.append(("filename", "missing required setting: set filename or directory"))
        return out


class CsvAssetSettings(CsvSource, AssetSettings):
    pass


class CsvUserSettings(CsvSource, UserSettings):
    filename: str = setting("", doc="One CSV file.", example="/some/path/to/file/users.csv")


class JsonAssetSettings(AssetSettings):
    directory: str = setting(doc="A directory: every *.json in it.", example="/some/path/to/files")


class JsonUserSettings(UserSettings):
    directory: str = setting(doc="A directory: every *.json in it.", example="/some/path/to/files")
    default_role: Int = setting(25, doc="Numeric Oomnitza role id given to imported users.")
    default_position: str = setting("Employee", doc="Position given to users without one.")


CSV_HOOK = "airflow_provider_oomnitza.hooks.files.CsvSourceHook"
JSON_HOOK = "airflow_provider_oomnitza.hooks.files.JsonSourceHook"

CSV_ASSETS = SourceType(name="csv_assets", title="CSV assets", record_type="assets", mapping_name="CSV_assets",
                        settings=CsvAssetSettings, hook=CSV_HOOK)
CSV_USERS = SourceType(name="csv_users", title="CSV users", record_type="users", mapping_name="CSV_users",
                       settings=CsvUserSettings, hook=CSV_HOOK)
JSON_ASSETS = SourceType(name="json_assets", title="JSON assets", record_type="assets",
                         mapping_name="JSON-assets", settings=JsonAssetSettings, hook=JSON_HOOK)
JSON_USERS = SourceType(name="json_users", title="JSON users", record_type="users", mapping_name="JSON-users",
                        settings=JsonUserSettings, hook=JSON_HOOK)
