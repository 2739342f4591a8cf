# The fuzz targets, one per entry point: the one list that tests/fuzz/CMakeLists.txt (libFuzzer builds),
# tests/CMakeLists.txt (replay of corpora and findings) and tools/fuzz.sh (which reads this line) follow.
set(OPSCOPE_FUZZ_TARGETS fuzz_assembler fuzz_compiler fuzz_bytecode fuzz_run fuzz_generated fuzz_profile_json fuzz_load_file)
