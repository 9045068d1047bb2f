"""idp package."""
