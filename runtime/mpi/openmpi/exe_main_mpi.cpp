// The main() of a binary compiled with `netc compile --mpi` (instead of
// runtime/exe/exe_main.cpp): MPI around the same command line. Rank 0
// prints; the other ranks print only errors. A rank that fails aborts the
// whole job (MPI_Abort) so that no rank waits forever for it; mpirun does
// the same when a rank dies.
#include "runtime/exe_cli.h"
#include "runtime/mpi/openmpi/mpi_collective.h"

#include <mpi.h>

#include <iostream>
#include <sstream>

extern "C" const char netc_plan_json[];
extern "C" const netc::rt::KernelEntry netc_kernels[];
extern "C" const float netc_initial_values[];
extern "C" const int64_t netc_initial_values_count;

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int status = 0;
  {
    netc::rt::MpiCollective ranks(MPI_COMM_WORLD);
    std::ostringstream discarded; // what ranks other than 0 would print
    discarded.setstate(std::ios::badbit);
    std::ostream& out = ranks.rank() == 0 ? std::cout : discarded;
    status = netc::rt::exe_main(argc, argv, netc_plan_json, netc_kernels, out, std::cerr, &ranks,
                                netc_initial_values, netc_initial_values_count);
    if (status != 0 && ranks.size() > 1) {
      std::cout.flush();
      std::cerr.flush();
      MPI_Abort(MPI_COMM_WORLD, status);
    }
  }
  MPI_Finalize();
  return status;
}
