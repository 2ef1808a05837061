"""Build the compiled epoch (Cython), with OpenMP where the compiler has it.

The package's metadata is in pyproject.toml; this file only describes the
extension, which pyproject.toml cannot do without setuptools' experimental
``ext-modules`` table, and picks the OpenMP flags by compiling a test
program: where none works (Apple's clang without libomp, say), the epoch is
built without OpenMP and runs on one thread. Where no C compiler (or no
Python header) can build a test file, the build stops with what to install
instead of the compiler's bare error.
"""

import os
import shutil
import sys
import tempfile

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError, LinkError, PlatformError

PYTHON_TEST = """
#include <Python.h>
int main(void) { return 0; }
"""

OPENMP_TEST = """
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n > 0 ? 0 : 1;
}
"""


class BuildExt(build_ext):
    """``build_ext`` that adds OpenMP and release flags the compiler accepts."""

    def build_extensions(self):
        self._check_compiler()
        msvc = self.compiler.compiler_type == "msvc"
        openmp = self._openmp_flags(msvc)
        if not openmp:
            print(
                "sklearn-sgdlogreg: the C compiler has no OpenMP; the epoch "
                "is built to run on one thread.",
                file=sys.stderr,
            )
        # MSVC's release flags are distutils' defaults already (/Ox, no /Zi).
        # -s drops the symbol table, which only a debugger or profiler reads;
        # Apple's linker has deprecated it.
        release = [] if msvc else ["-O3", "-g0"]
        strip = ["-s"] if sys.platform.startswith("linux") else []
        for ext in self.extensions:
            ext.extra_compile_args += release + openmp
            ext.extra_link_args += strip + openmp
        super().build_extensions()

    def _build_test(self, code, flags=(), link=False):
        """Compile ``code``, and link it where ``link``; raise where it fails."""
        with tempfile.TemporaryDirectory() as folder:
            source = os.path.join(folder, "build_test.c")
            with open(source, "w") as f:
                f.write(code)
            objects = self.compiler.compile(
                [source], output_dir=folder, extra_postargs=list(flags)
            )
            if link:
                self.compiler.link_executable(
                    objects, "build_test", output_dir=folder, extra_postargs=list(flags)
                )

    def _check_compiler(self):
        """Stop with what to install where no C compiler builds a test file."""
        try:
            self._build_test(PYTHON_TEST)
        except (CompileError, PlatformError) as error:
            # MSVC's PlatformError says what to install already.
            command = getattr(self.compiler, "compiler_so", ["cl.exe"])[0]
            if shutil.which(command) is None:
                cause = f"no C compiler was found (the build looks for {command!r})"
            else:
                cause = (
                    f"the C compiler {command!r} could not compile a file that "
                    "includes Python.h"
                )
            raise CompileError(
                f"sklearn-sgdlogreg compiles its epoch loop from C at install "
                f"time, but {cause}: {error}\n"
                "Install a C compiler and the Python headers: on Debian or "
                "Ubuntu `apt-get install gcc python3-dev`, on Fedora `dnf install "
                "gcc python3-devel`, on macOS `xcode-select --install`, on Windows "
                "the Microsoft C++ Build Tools. Set CC to use another compiler."
            ) from error

    def _openmp_flags(self, msvc):
        """The first flag set that compiles and links the test program."""
        candidates = [["/openmp"]] if msvc else [["-fopenmp"]]
        for flags in candidates:
            try:
                self._build_test(OPENMP_TEST, flags, link=True)
            except (CompileError, LinkError):  # no OpenMP here
                continue
            return flags
        return []


setup(
    ext_modules=cythonize(
        [Extension("sklearn_sgdlogreg._epoch", ["sklearn_sgdlogreg/_epoch.pyx"])],
        quiet=True,
    ),
    cmdclass={"build_ext": BuildExt},
)
