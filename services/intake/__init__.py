"""Enrollment intake: the roster of residents who are or will be wajib KTP."""
