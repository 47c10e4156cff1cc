"""Registers Ducha's pages (include/ducha/web) in Airflow's api-server and navigation.

Only registration lives here: the app, its access control and its templates are in
the ``ducha.web`` package.
"""

from __future__ import annotations

from typing import ClassVar

from airflow.plugins_manager import AirflowPlugin

from ducha.web.app import PREFIX, create_app


class DuchaPagesPlugin(AirflowPlugin):
    name = "ducha_pages"
    fastapi_apps: ClassVar[list[dict]] = [
        {"app": create_app(), "url_prefix": PREFIX, "name": "Ducha 督察信息公开"}
    ]
    external_views: ClassVar[list[dict]] = [
        {
            "name": label,
            "href": f"{PREFIX.lstrip('/')}/{route}",
            "destination": "nav",
            "category": "督察信息公开",
            "url_route": f"ducha-{route}",
        }
        for label, route in (
            ("信息公开", "collect"),
            ("案件查询", "cases"),
            ("挂图作战", "map"),
            ("报送自查", "precheck"),
        )
    ]
