"""Data parallel from Python, as `leap train` does it: each rank trains its share of every
batch and the gradients are averaged, so N ranks take the steps one process takes.

    leap.distributed.run_on_threads(2, lambda comm: model.fit(x, y, communicator=comm))  # CPU
    leap.distributed.run_on_gpus(4, train)          # a GPU a rank, NCCL (one model per rank)
    comm = leap.distributed.mpi_communicator()      # under mpirun -np N python3 script.py

Under mpirun every process runs the script; rank 0 prints and writes files."""
from ._core import (Communicator, launched_by_mpi, mpi_built, mpi_communicator, nccl_built,
                    run_on_gpus, run_on_threads)

__all__ = ["Communicator", "launched_by_mpi", "mpi_built", "mpi_communicator", "nccl_built",
           "run_on_gpus", "run_on_threads"]
