"""The throwaway MariaDB server starts and answers queries."""

from __future__ import annotations

from urllib.parse import urlparse

import pymysql


def test_server_answers(mysql_server_url: str) -> None:
    u = urlparse(mysql_server_url)
    conn = pymysql.connect(host=u.hostname, port=u.port, user=u.username or "root", password="")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 + 1, VERSION()")
            row = cur.fetchone()
            assert row is not None
            assert row[0] == 2
            assert "MariaDB" in row[1] or row[1][0].isdigit()
            cur.execute("CREATE DATABASE smoke")
            cur.execute("CREATE TABLE smoke.t (a int primary key, b varchar(10)) ENGINE=InnoDB")
            cur.execute("INSERT INTO smoke.t VALUES (%s, %s)", (1, "x"))
            cur.execute("SELECT b FROM smoke.t WHERE a = %s", (1,))
            assert cur.fetchone() == ("x",)
            cur.execute("DROP DATABASE smoke")
    finally:
        conn.close()
