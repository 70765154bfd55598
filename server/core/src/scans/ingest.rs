// ingestion: see below
