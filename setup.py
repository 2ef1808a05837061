"""Build the compiled epoch (Cython), with OpenMP where the compiler has it.

The package's metadata is in pyproject.toml; this file only describes the
extension, which pyproject.toml cannot do without setuptools' experimental
``ext-modules`` table, and picks the OpenMP flags by compiling a test
program: where none works (Apple's clang without libomp, say), the epoch is
built without OpenMP and runs on one thread.
"""

import os
import sys
import tempfile

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

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
        msvc = self.compiler.compiler_type == "msvc"
        openmp = self._openmp_flags(msvc)
        if not openmp:
            print(
                "sklearn-sgdlogreg: the C compiler has no OpenMP; the epoch "
                "is built to run on one thread.",
                file=sys.stderr,
            )
        release = [] if msvc else ["-O3", "-g0"]
        for ext in self.extensions:
            ext.extra_compile_args += release + openmp
            ext.extra_link_args += openmp
        super().build_extensions()

    def _openmp_flags(self, msvc):
        """The first flag set that compiles and links the test program."""
        candidates = [["/openmp"]] if msvc else [["-fopenmp"]]
        with tempfile.TemporaryDirectory() as folder:
            source = os.path.join(folder, "openmp_test.c")
            with open(source, "w") as f:
                f.write(OPENMP_TEST)
            for flags in candidates:
                try:
                    objects = self.compiler.compile(
                        [source], output_dir=folder, extra_postargs=flags
                    )
                    self.compiler.link_executable(
                        objects,
                        "openmp_test",
                        output_dir=folder,
                        extra_postargs=flags,
                    )
                except Exception:  # CompileError, LinkError: no OpenMP here
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
