# SPDX-License-Identifier: MIT
"""safer-ring generator: spec/*.yaml -> generated/ (load, validate, model, render)."""

# Bump when the generated code's contract with runtime/ changes; the runtime
# header defines SR_GEN_ABI and generated headers refuse a mismatch.
GEN_ABI = 2
