"""The public contact form: anyone may write to the support team without signing in."""
