//! Library target only: lets `lb-agent` declare a build-dependency on this crate so cargo
//! rebuilds the agent when the kernel programs change. The programs live in `main.rs`.
#![no_std]
