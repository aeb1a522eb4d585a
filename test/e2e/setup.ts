// End-to-end tests wait for batching windows and workflow executions.
jest.setTimeout(300_000);
