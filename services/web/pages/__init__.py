"""The pages, one module per group of people: signing in, clerks, the dinas, print stations."""
