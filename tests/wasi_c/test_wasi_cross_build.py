"""The WASI and sandbox sources compile, with the runtime's flags (-Wall -Werror),
for both static-executable targets (x86_64 and aarch64 musl) and in every switch
combination.  (Nothing runs here: the aarch64 objects are only compiled.)"""

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from wasic_harness import RUNTIME, SOURCES, abi_include_dir

from wasmaot.driver import toolchain
from wasmaot.driver.targets import resolve_target

SWITCHES = {"default": (), "paranoid-fallback": ("-DWASMAOT_RT_PARANOID",
                                                 "-DWASMAOT_RT_SANDBOX_FORCE_FALLBACK")}


def zig() -> list[str]:
    """The zig binary of the ziglang wheel itself (no Python start-up per file)."""
    import ziglang

    exe = Path(ziglang.__file__).parent / "zig"
    return [str(exe)] if exe.is_file() else toolchain.zig_command()


@pytest.mark.parametrize("switches", list(SWITCHES))
@pytest.mark.parametrize("target", ["aarch64-linux-musl", "x86_64-linux-musl"])
def test_compiles(tmp_path, target, switches):
    t = resolve_target(target)
    include = abi_include_dir(tmp_path)
    def compile_one(src):
        obj = tmp_path / (src.parent.name + "_" + src.stem + ".o")
        cmd = [*zig(), "cc", "-target", t.zig_target, f"-mcpu={t.cpu}",
               *toolchain.CFLAGS, *SWITCHES[switches], "-I", str(RUNTIME / "include"),
               "-I", str(include), "-c", str(src), "-o", str(obj)]
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
        return src.name, proc.returncode, proc.stderr, obj

    with ThreadPoolExecutor(max_workers=toolchain.MAX_JOBS) as pool:
        for name, code, stderr, obj in pool.map(compile_one, SOURCES):
            assert code == 0, f"{name}: {stderr}"
            assert obj.stat().st_size > 0
