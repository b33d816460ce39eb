"""leadhooks: relay real-estate leads into Vitec Express and Omnicasa."""

__version__ = "0.1.0"
