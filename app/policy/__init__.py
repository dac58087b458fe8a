"""The privacy policy's public pages: the version in force, every version, and the list of them."""
