"""One router per openEO API area."""
