"""`python -m tilekernels profile`: the seeds' Nsight Compute loop as a command.

ncu.py runs Nsight Compute and reads its CSV; child.py is the program it profiles (one NVTX range per
call); session.py groups the kernels by call; roofline.py places each call against the GPU's ceilings;
report.py prints the tables and writes the JSON and the plot.
"""
