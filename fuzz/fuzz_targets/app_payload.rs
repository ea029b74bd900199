#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sharethings::fuzzing::app_payload(data));
