"""Yichang (宜昌): online join and transfer, from the application to the printed forms (宜工办〔2016〕22号)."""
