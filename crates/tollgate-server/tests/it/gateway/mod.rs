mod admission;
mod bad_input;
mod concurrency;
mod multiprocess;
mod passthrough;
mod streaming;
