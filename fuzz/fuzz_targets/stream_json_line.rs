#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tether::fuzzing::stream_json_line(data));
