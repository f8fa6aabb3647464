"""What more than one test module or bench uses, grouped by subject; no tests here."""
