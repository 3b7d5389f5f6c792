/* SQLite (the sqlite3.c amalgamation) as a database engine: an in-memory database, filled
 * in one transaction with pseudo-random rows, then indexed, joined, grouped, sorted, updated
 * and deleted from. argv[1]: the row count (default 300000). Prints one line per query.
 * Built with SQLITE_OS_OTHER: this file registers a VFS of its own that opens no files (all
 * storage is memory, SQLITE_TEMP_STORE=3), with fixed randomness and time, so the same C
 * runs natively and in wasm and every run prints the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite3.h"

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out) {
    (void)vfs; (void)name; (void)file; (void)flags; (void)out;
    return SQLITE_CANTOPEN;  /* every database and temporary file lives in memory */
}
static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync) {
    (void)vfs; (void)name; (void)sync;
    return SQLITE_IOERR_DELETE;
}
static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs; (void)name; (void)flags;
    *out = 0;
    return SQLITE_OK;
}
static int vfs_fullpathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
    (void)vfs;
    sqlite3_snprintf(n, out, "%s", name);
    return SQLITE_OK;
}
static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs;
    for (int i = 0; i < n; i++) out[i] = (char)(i * 73 + 11);
    return n;
}
static int vfs_sleep(sqlite3_vfs *vfs, int us) { (void)vfs; return us; }
static int vfs_current_time(sqlite3_vfs *vfs, double *out) {
    (void)vfs;
    *out = 2460000.5;  /* a fixed Julian day */
    return SQLITE_OK;
}
static int vfs_last_error(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs; (void)n; (void)out;
    return 0;
}

static sqlite3_vfs memory_only_vfs = {
    1, 0, 512, NULL, "memory-only", NULL, vfs_open, vfs_delete, vfs_access, vfs_fullpathname,
    NULL, NULL, NULL, NULL, vfs_randomness, vfs_sleep, vfs_current_time, vfs_last_error,
};

int sqlite3_os_init(void) { return sqlite3_vfs_register(&memory_only_vfs, 1); }
int sqlite3_os_end(void) { return SQLITE_OK; }

static sqlite3 *db;

static void exec(const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, err);
        exit(1);
    }
}

static int print_row(void *label, int n, char **values, char **names) {
    (void)names;
    printf("%s", (const char *)label);
    for (int i = 0; i < n; i++) printf(" %s", values[i] ? values[i] : "NULL");
    printf("\n");
    return 0;
}

static void query(const char *label, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, print_row, (void *)label, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, err);
        exit(1);
    }
}

int main(int argc, char **argv) {
    int rows = argc > 1 ? atoi(argv[1]) : 300000;
    if (rows < 1) return 2;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        fprintf(stderr, "open: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    exec("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, region INTEGER);"
         "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, amount REAL, note TEXT)");
    exec("BEGIN");
    sqlite3_stmt *ins;
    sqlite3_prepare_v2(db, "INSERT INTO customers VALUES(?, ?, ?)", -1, &ins, NULL);
    unsigned seed = 12345;
    char text[64];
    int customers = rows / 10 + 1;
    for (int i = 1; i <= customers; i++) {
        seed = seed * 1103515245u + 12345u;
        snprintf(text, sizeof text, "customer-%08x", seed);
        sqlite3_bind_int(ins, 1, i);
        sqlite3_bind_text(ins, 2, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 3, (int)(seed >> 16) % 50);
        sqlite3_step(ins);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    sqlite3_prepare_v2(db, "INSERT INTO orders VALUES(NULL, ?, ?, ?)", -1, &ins, NULL);
    for (int i = 0; i < rows; i++) {
        seed = seed * 1103515245u + 12345u;
        snprintf(text, sizeof text, "note %u %s", seed % 977, (seed >> 8) % 3 ? "paid" : "open");
        sqlite3_bind_int(ins, 1, (int)((seed >> 4) % (unsigned)customers) + 1);
        sqlite3_bind_double(ins, 2, (double)((seed >> 12) % 100000) / 100.0);
        sqlite3_bind_text(ins, 3, text, -1, SQLITE_TRANSIENT);
        sqlite3_step(ins);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    exec("COMMIT");
    query("count", "SELECT count(*), printf('%.2f', sum(amount)) FROM orders");
    exec("CREATE INDEX orders_customer ON orders(customer)");
    exec("CREATE INDEX customers_region ON customers(region)");
    query("regions", "SELECT count(*), printf('%.2f', sum(t)) FROM (SELECT c.region, sum(o.amount) AS t "
                     "FROM orders o JOIN customers c ON c.id = o.customer GROUP BY c.region)");
    query("top", "SELECT c.name, printf('%.2f', sum(o.amount)) AS t FROM customers c JOIN orders o "
                 "ON o.customer = c.id GROUP BY c.id ORDER BY t DESC, c.id LIMIT 3");
    query("like", "SELECT count(*) FROM orders WHERE note LIKE '%open' AND amount > 500");
    query("distinct", "SELECT count(DISTINCT note) FROM orders");
    exec("UPDATE orders SET amount = amount * 1.1 WHERE note LIKE '%paid'");
    exec("DELETE FROM orders WHERE customer % 7 = 0");
    query("after", "SELECT count(*), printf('%.2f', sum(amount)), max(id) FROM orders");
    query("sorted", "SELECT group_concat(id) FROM (SELECT id FROM orders ORDER BY note, amount DESC, id "
                    "LIMIT 5)");
    query("window", "SELECT printf('%.2f', sum(abs(r))) FROM (SELECT amount - avg(amount) OVER "
                    "(PARTITION BY customer) AS r FROM orders WHERE customer < 500)");
    sqlite3_close(db);
    return 0;
}
