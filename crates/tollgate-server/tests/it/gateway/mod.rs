mod passthrough;
