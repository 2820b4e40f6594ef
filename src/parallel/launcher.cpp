#include <cstdlib>

#include "leap/parallel.h"

namespace leap {

bool launched_by_mpi() {
  // Open MPI's mpirun, MPICH's and Intel's mpiexec (PMI), and PMIx launchers such as srun.
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(variable)) return true;
  return false;
}

}  // namespace leap
