mod admission;
mod bad_input;
mod concurrency;
mod journal;
mod multiprocess;
mod passthrough;
mod serving;
mod streaming;
