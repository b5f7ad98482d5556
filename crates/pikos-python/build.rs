fn main() {
    // Emits the `Py_3_12`, `Py_3_13`, ... cfgs for the interpreter being built for.
    pyo3_build_config::use_pyo3_cfgs();
    pyo3_build_config::print_expected_cfgs();
}
