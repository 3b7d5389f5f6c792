/* Lua 5.4 interpreter loop: runs an embedded Lua script (recursion, table and string work,
 * a sort, closures, a small VM-heavy sieve, float math) in a fresh state. argv[1]: a scale factor
 * (default 20). Prints what the script prints: one checksum per part.
 * Built with LUAI_THROW/LUAI_TRY defined to abort (see run.py): the script raises no error,
 * and so the same C runs everywhere without setjmp/longjmp (a coroutine yield
 * throws too, so the script has none). Only the base, string, table,
 * and math libraries are opened (io/os/package need a host the wasm does not have). */
#include <stdio.h>
#include <stdlib.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

static const char SCRIPT[] =
    "local scale = ...\n"
    "local function fib(n) if n < 2 then return n end return fib(n-1) + fib(n-2) end\n"
    "print('fib', fib(22 + (scale >= 10 and 5 or 0)))\n"
    "local seed = 42\n"
    "local function rnd() seed = (seed * 1103515245 + 12345) % 2147483648; return seed end\n"
    "local t = {}\n"
    "for i = 1, 20000 * scale do t[i] = rnd() % 1000000 end\n"
    "table.sort(t)\n"
    "local s = 0 for i = 1, #t, 7 do s = (s + t[i] * i) % 1000000007 end\n"
    "print('sort', s)\n"
    "local parts = {}\n"
    "for i = 1, 5000 * scale do parts[#parts+1] = string.format('%d:%x', i, rnd() % 65536) end\n"
    "local joined = table.concat(parts, ',')\n"
    "local count, sum = 0, 0\n"
    "for a, b in joined:gmatch('(%d+):(%x+)') do count = count + 1; sum = (sum + tonumber(b, 16) * a) % 1000000007 end\n"
    "print('strings', #joined, count, sum)\n"
    "local words = {}\n"
    "for i = 1, 3000 * scale do local w = 'w' .. (rnd() % 997); words[w] = (words[w] or 0) + 1 end\n"
    "local keys = {} for k in pairs(words) do keys[#keys+1] = k end table.sort(keys)\n"
    "local h = 0 for i, k in ipairs(keys) do h = (h * 31 + words[k] * i) % 1000000007 end\n"
    "print('hash', #keys, h)\n"
    "local function counter() local c = 0 return function(d) c = c + d return c end end\n"
    "local acc = 0 for i = 1, 200 * scale do local f = counter() for j = 1, 100 do acc = acc + f(j) % 7 end end\n"
    "print('closures', acc)\n"
    "local n = 20000 * scale local sieve = {} local primes = 0\n"
    "for i = 2, n do if not sieve[i] then primes = primes + 1 for j = i*i, n, i do sieve[j] = true end end end\n"
    "print('sieve', primes)\n"
    "local x = 0.0 for i = 1, 100000 * scale do x = x + math.sin(i) * math.sqrt(i) end\n"
    "print('math', string.format('%.6e', x))\n";

int main(int argc, char **argv) {
    int scale = argc > 1 ? atoi(argv[1]) : 20;
    lua_State *L = luaL_newstate();
    if (!L) return 1;
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base}, {LUA_STRLIBNAME, luaopen_string},
                                    {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math}, {NULL, NULL}};
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    if (luaL_loadbuffer(L, SCRIPT, sizeof SCRIPT - 1, "bench") != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_pushinteger(L, scale);
    lua_call(L, 1, 0);
    lua_close(L);
    return 0;
}
