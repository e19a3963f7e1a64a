"""How far a float32 result may move when it is computed again elsewhere.

A convolution sums K = C_in·k² products. Kernels built for other instruction
sets (AVX2, AVX-512, AMX; oneDNN's blockings, ONNX Runtime's MLAS) add them
in another order, and each order rounds differently: the sum moves by about
√K·ε·|terms| (ε = 2⁻²⁴ ≈ 6e-8 per rounding), and the moves of one layer are
carried, rescaled by the normalisations, through every layer after it. A
tiny generator's output in [-1, 1] therefore differs between machines by
1e-6 to a few 1e-5. Measured on a 2-core AMD EPYC with AVX512-BF16:
city35_tiny is 6e-8 from the reference's saved output with PyTorch's own
kernels and 2.4e-5 with PyTorch held to AVX2 (ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2), as on a real AVX2-only CPU; the largest of the
other reference fixtures is 7.5e-6 either way. A real mistake (a wrong
weight, a missed normalisation, another upsampling) moves it by 1e-2 or
more.

So outputs compared with numbers computed on another machine, or by another
runtime, are held to ACROSS_MACHINES, the bound the Rust parity tests use
too (server/tests: reference_outputs.rs, oasis.rs, clade.rs, variants.rs,
compute.rs). docs/cpu-features.md says which tests and paths depend on the
CPU's instruction set.
"""

ACROSS_MACHINES = 1e-4
