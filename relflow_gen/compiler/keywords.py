"""Reserved words: what the SQL dialects reserve, what Python reserves, and what the
generated package itself defines.

SQL reserved words are names like any other: generated SQL quotes every
identifier, and the SQL-fragment rewriter of string restrictions quotes the
attribute names it finds, so ``key``, ``condition`` or ``rank`` are valid
attribute and table names (as in DataJoint).  The SQL lists below are kept for
tests and tools (which words need quoting in hand-written SQL).  What the
validator refuses (E0117) is what actually breaks the generated package:
hard Python keywords, and imported schema names that would hide an attribute
of the generated pipeline class (:data:`PIPELINE_ATTRIBUTES`).

The MariaDB and SQLite lists were measured, not copied: every keyword the server
knows was tried as an unquoted column name and table name
(``CREATE TABLE t (word INT)``, ``CREATE TABLE word (x INT)``); the words listed
are those rejected.  Words are lower case; compare with :func:`sql_reserved`.
"""

from __future__ import annotations

import keyword

#: MySQL 8.0 reserved words (marked (R) in the manual's "Keywords and Reserved Words").
MYSQL_RESERVED: frozenset[str] = frozenset("""
    accessible add all alter analyze and as asc asensitive before between bigint binary
    blob both by call cascade case change char character check collate column condition
    constraint continue convert create cross cube cume_dist current_date current_time
    current_timestamp current_user cursor database databases day_hour day_microsecond
    day_minute day_second dec decimal declare default delayed delete dense_rank desc
    describe deterministic distinct distinctrow div double drop dual each else elseif
    empty enclosed escaped except exists exit explain false fetch first_value float
    float4 float8 for force foreign from fulltext function generated get grant group
    grouping groups having high_priority hour_microsecond hour_minute hour_second if
    ignore in index infile inner inout insensitive insert int int1 int2 int3 int4 int8
    integer intersect interval into io_after_gtids io_before_gtids is iterate join
    json_table key keys kill lag last_value lateral lead leading leave left like limit
    linear lines load localtime localtimestamp lock long longblob longtext loop
    low_priority master_bind master_ssl_verify_server_cert match maxvalue mediumblob
    mediumint mediumtext middleint minute_microsecond minute_second mod modifies natural
    no_write_to_binlog not nth_value ntile null numeric of on optimize optimizer_costs
    option optionally or order out outer outfile over partition percent_rank precision
    primary procedure purge range rank read read_write reads real recursive references
    regexp release rename repeat replace require resignal restrict return revoke right
    rlike row row_number rows schema schemas second_microsecond select sensitive
    separator set show signal smallint spatial specific sql sql_big_result
    sql_calc_found_rows sql_small_result sqlexception sqlstate sqlwarning ssl starting
    stored straight_join system table terminated then tinyblob tinyint tinytext to
    trailing trigger true undo union unique unlock unsigned update usage use using
    utc_date utc_time utc_timestamp values varbinary varchar varcharacter varying
    virtual when where while window with write xor year_month zerofill
    """.split())


#: MariaDB 10.11 reserved words: the words of information_schema.KEYWORDS that the server
#: rejects as an unquoted column or table name.
MARIADB_RESERVED: frozenset[str] = frozenset("""
    accessible add all alter analyze and as asc asensitive before between bigint binary
    blob both by call cascade case change char character check collate column condition
    constraint continue convert create cross current_date current_role current_time
    current_timestamp current_user cursor databases day_hour day_microsecond day_minute
    day_second dec decimal declare default delayed delete delete_domain_id desc describe
    deterministic distinct distinctrow div do_domain_ids double drop dual each else
    elseif enclosed escaped except exists exit explain false fetch float float4 float8
    for force foreign from fulltext grant group having high_priority hour_microsecond
    hour_minute hour_second if ignore ignore_domain_ids in index infile inner inout
    insensitive insert int int1 int2 int3 int4 int8 integer intersect interval into is
    iterate join key keys kill leading leave left like limit linear lines load localtime
    localtimestamp lock long longblob longtext loop low_priority
    master_demote_to_replica master_demote_to_slave master_ssl_verify_server_cert match
    maxvalue mediumblob mediumint mediumtext middleint minute_microsecond minute_second
    mod modifies natural no_write_to_binlog not null numeric offset on optimize
    optionally or order out outer outfile over page_checksum parse_vcol_expr partition
    portion precision primary procedure purge range read read_write reads real recursive
    ref_system_id references regexp release rename repeat replace require resignal
    restrict return returning revoke right rlike row_number rows schemas
    second_microsecond select sensitive separator set show signal smallint spatial
    specific sql sql_big_result sql_calc_found_rows sql_small_result sqlexception
    sqlstate sqlwarning ssl starting stats_auto_recalc stats_persistent
    stats_sample_pages straight_join table terminated then tinyblob tinyint tinytext to
    trailing trigger true undo union unique unlock unsigned update usage use using
    utc_date utc_time utc_timestamp values varbinary varchar varcharacter varying when
    where while with write xor year_month zerofill
    """.split())


#: SQLite 3.40 keywords that SQLite rejects as an unquoted column or table name (most of
#: SQLite's keywords fall back to plain names and are not listed).
SQLITE_RESERVED: frozenset[str] = frozenset("""
    add all alter and as autoincrement between case cast check collate commit constraint
    create current_date current_time current_timestamp default deferrable delete
    distinct drop else escape except exists foreign from group having if in index insert
    intersect into is isnull join limit not nothing notnull null on or order primary
    raise references returning select set table then to transaction union unique update
    using values when where
    """.split())


SQL_RESERVED: frozenset[str] = MYSQL_RESERVED | MARIADB_RESERVED | SQLITE_RESERVED

#: Hard Python keywords; soft keywords (``match``, ``case``, ``type``, ``_``) are valid names.
PYTHON_KEYWORDS: frozenset[str] = frozenset(keyword.kwlist)


def sql_reserved(name: str) -> list[str]:
    """The SQL dialects in which ``name`` is a reserved word (empty when none)."""
    low = name.lower()
    found: list[str] = []
    if low in MYSQL_RESERVED:
        found.append("MySQL")
    if low in MARIADB_RESERVED:
        found.append("MariaDB")
    if low in SQLITE_RESERVED:
        found.append("SQLite")
    return found


def is_python_keyword(name: str) -> bool:
    return name in PYTHON_KEYWORDS


#: Attributes of the generated pipeline class (``relflow_gen.runtime.pipeline.Pipeline``) that an
#: imported schema's namespace attribute (``db.<schema>``) would hide.  A test keeps this list equal
#: to the runtime class, which the compiler layer does not import.
PIPELINE_ATTRIBUTES: frozenset[str] = frozenset(
    "close connection declare diagram gc_stores jobs maker_for namespaces outdated plan populate_all refresh "
    "register reopener store_names table tables verify_stores".split()
)
