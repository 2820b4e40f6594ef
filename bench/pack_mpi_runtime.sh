#!/usr/bin/env bash
# Packs Open MPI's runtime (mpirun, its plugins and help files, PMIx, the libraries leap's MPI
# build loads) into STAGE, for GPU machines that have no MPI: STAGE/lib goes on
# LD_LIBRARY_PATH, and STAGE/mpi is a relocated Open MPI tree for OPAL_PREFIX and PMIX_PREFIX
# (bench/device_run.sh sets them). Plugins that need libraries left behind (InfiniBand, UCX,
# libfabric, PSM, OpenSHMEM) stay behind too: shared memory and TCP remain.
# usage: bench/pack_mpi_runtime.sh STAGE
set -euo pipefail
stage=$1
arch=$(gcc -print-multiarch)
libdir=/usr/lib/$arch
mpi=$stage/mpi/usr
mkdir -p "$stage/lib" "$mpi/bin" "$mpi/share" "$mpi/lib/$arch/openmpi/lib/openmpi3" \
         "$mpi/lib/$arch/pmix2/lib/pmix" "$mpi/lib/$arch/pmix2/share"
packed=(libmpi.so.40 libopen-rte.so.40 libopen-pal.so.40 libhwloc.so.15 libevent_core-2.1.so.7
        libevent_pthreads-2.1.so.7 libudev.so.1 libpmix.so.2 libmunge.so.2 libnuma.so.1
        libmca_common_sm.so.40 libmca_common_ompio.so.41 libmca_common_monitoring.so.50)
for lib in "${packed[@]}"; do cp -L "$libdir/$lib" "$stage/lib/"; done
# What every machine has: the C and C++ runtimes and zlib.
base='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|librt|libpthread|libz|libstdc\+\+|libgcc_s)\.'
# A plugin comes along when every library it loads is base or packed.
plugin_fits() {
  local needed
  for needed in $(ldd "$1" | awk '{print $1}'); do
    needed=${needed##*/}
    [[ $needed =~ $base ]] && continue
    [[ " ${packed[*]} " == *" $needed "* ]] || return 1
  done
}
for plugin in "$libdir"/openmpi/lib/openmpi3/*.so "$libdir"/pmix2/lib/pmix/*.so; do
  plugin_fits "$plugin" || continue
  cp -L "$plugin" "$mpi/lib/$arch/${plugin#"$libdir"/}"
done
cp -L /usr/bin/orterun "$mpi/bin/mpirun"
cp -rL /usr/share/openmpi "$mpi/share/"
cp -rL "$libdir/pmix2/share/pmix" "$mpi/lib/$arch/pmix2/share/"
echo "Open MPI runtime: $(ls "$mpi/lib/$arch/openmpi/lib/openmpi3" | wc -l) plugins, $(du -sh "$stage/mpi" | cut -f1) in $stage/mpi"
